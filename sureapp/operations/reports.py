"""/reports/summary."""
from ..reports import services
from ..reports.schemas import ReportSummary
from .registry import Caller, operation


@operation("GET", "/reports/summary", summary="Workspace summary", tag="Reports",
           resource="reports",
           response=ReportSummary,
           description="Contacts by status, list and tag sizes, campaigns by status, and contacts "
                       "created per day over the last 30 days in the workspace timezone.")
def show_report_summary(caller: Caller):
    return services.summary(caller.workspace)
