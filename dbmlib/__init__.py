"""dbm-workbench: the shared library behind the database-marketing notebooks."""

__version__ = "0.1.0"
__all__ = ["__version__"]
