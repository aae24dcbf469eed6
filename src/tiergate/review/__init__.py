"""The quarterly review: what is due (``due``), how it reads (``render``), and the one issue per quarter (``issue``)."""
