"""The pull request's own surfaces: the sticky cost comment (``comment``)."""
