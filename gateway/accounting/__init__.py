"""Accounting: the accountant, costing (pure, Decimal), rate tables, lists and their CSV form,
and the job report."""
