"""`massage-estimator batch`: quote thousands of rows from a CSV or JSON Lines file.

Rows go to the service through EstimateSessions in chunks (at most 1,000, the server's
limit), several chunks in flight at once; results are written in input order. A bad row
(unparseable value, unknown session type, the server's INVALID_ARGUMENT / NOT_FOUND for it)
becomes an output row with status=error and the reason; the batch goes on. The output is
written to a temporary file beside OUT and renamed when the batch is complete, so a failed
run never leaves half a file. Exit 0 when the batch ran (bad rows included), 1 when the
service could not be reached or refused a whole chunk for a reason other than the rows,
2 on bad usage (missing file, unknown column).

Input columns are in docs/cli.md (COLUMNS below), output columns are OUTPUT_COLUMNS.
"""

from service.cli.batch.command import batch
from service.cli.batch.files import OUTPUT_COLUMNS
from service.cli.batch.rows import COLUMNS

__all__ = ["COLUMNS", "OUTPUT_COLUMNS", "batch"]
