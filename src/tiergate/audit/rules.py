"""The audit's rules: declared here so ``tiergate rules`` and the README list them without loading an engine."""

from __future__ import annotations

from tiergate.findings import Rule

DRIFT = Rule("TG901", "audit-model-drift", "error",
             "Production called a model outside the task's authorized chain (its tier up to the escalation ceiling).")
ESCALATION = Rule("TG902", "audit-escalation-rate", "warning",
                  "The share of calls served above the authorized tier exceeds the contract's escalation_rate by more than 25%.")
SPEND_GAP = Rule("TG903", "audit-spend-gap", "warning",
                 "The spend the log records differs by more than 25% from the spend recomputed from the catalog's prices.")
TOKENS = Rule("TG904", "audit-token-drift", "warning",
              "Observed average input or output tokens differ by more than 25% from the contract's cost block.")
UNKNOWN_TASK = Rule("TG905", "audit-unknown-task", "warning", "Production traffic names a task that has no contract.")
UNATTRIBUTED = Rule("TG906", "audit-unattributed", "warning", "Calls carry no task id, so no contract governs them.")
IDLE = Rule("TG907", "audit-idle-contract", "warning", "A contract had no traffic in the audited window.")
MALFORMED = Rule("TG908", "audit-malformed-rows", "warning",
                 "Rows without a usable time, model or token counts (or with negative ones) were left out of the audit.")
NO_DATA = Rule("TG909", "audit-no-data", "error", "The source holds no calls in the audited window, so nothing could be checked.")
VOLUME = Rule("TG910", "audit-volume-drift", "warning",
              "Observed calls per 30 days differ by more than 25% from the contract's monthly_volume.")
RULES = (DRIFT, ESCALATION, SPEND_GAP, TOKENS, UNKNOWN_TASK, UNATTRIBUTED, IDLE, MALFORMED, NO_DATA, VOLUME)
