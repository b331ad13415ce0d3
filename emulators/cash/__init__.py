"""Emulated kiosk cash unit: a JCM ID-003 bill validator, a ccTalk coin acceptor and change
hoppers, with a customer-side API, fault plans and persistent audit counters.

`CashUnit(clock, evidence, state_dir, transport="pty")` is the entry point; see docs/cash.md.
"""

from emulators.cash.audit import AuditError, Ledger, ReconcileReport, SessionSummary
from emulators.cash.customer import Customer, InsertOutcome, Operator
from emulators.cash.faults import FaultPlan, FaultPlanError
from emulators.cash.money import Authenticity, Item, bill, coin
from emulators.cash.unit import BILL_VALIDATOR_PORT, COIN_PORT, CashUnit

__all__ = [
    "BILL_VALIDATOR_PORT",
    "COIN_PORT",
    "AuditError",
    "Authenticity",
    "CashUnit",
    "Customer",
    "FaultPlan",
    "FaultPlanError",
    "InsertOutcome",
    "Item",
    "Ledger",
    "Operator",
    "ReconcileReport",
    "SessionSummary",
    "bill",
    "coin",
]
