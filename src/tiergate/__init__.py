"""tiergate: govern which LLM tier each task may use."""

__version__ = "0.1.0"
# The repository that publishes tiergate (its action, its docs); named once, here. pyproject's
# [project.urls] repeats it, and a test keeps the two equal.
REPOSITORY = "tiergate/tiergate"
HOMEPAGE = f"https://github.com/{REPOSITORY}"
