"""o16n: publish Python code and models as versioned REST web services."""

__version__ = "0.1.0"
