"""tiergate: govern which LLM tier each task may use."""

__version__ = "0.1.0"
