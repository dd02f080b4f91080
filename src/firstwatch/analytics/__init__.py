"""Analytics: pure functions over plain data (design.md §4).

Each module answers one question and is checked against an independent reference on known data.
Analytics know no server and no terminal.
"""
