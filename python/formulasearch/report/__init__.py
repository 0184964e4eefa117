"""What a person reads: plots (matplotlib, imported on first use) and reports and exports (HTML, Markdown, CSV,
JSON, Parquet)."""
from .export import EXPORT_FORMATS, export, html_report, markdown_report, top_formulas

__all__ = ["EXPORT_FORMATS", "export", "html_report", "markdown_report", "top_formulas"]
