"""Scenario modules, run in this order. Each has TITLE and `run(bench) -> list[Result]`
(bench.runner.Bench / Result); add yours here (see bench/README.md)."""
SCENARIOS = [
    "api_read",        # GET /api/v1/contacts/{id} vs the bare Flask baseline (bench/baseline.py)
    "api_writes",      # database writes per 1,000 authenticated reads
    "api_pagination",  # GET /api/v1/contacts?limit=100: first page vs a cursor deep in the list
    "api_bulk",        # POST /api/v1/contacts/bulk upsert throughput
    "keys_search",     # API Keys page search: 10,000 keys vs 100 keys
    "contacts_page",   # Contacts page (HTMX): first page vs page 500 through a keyset cursor
    "contacts_import", # CSV import of 50,000 rows (rows/s) and a bulk tag of all of them
]
