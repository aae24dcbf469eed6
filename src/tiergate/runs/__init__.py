"""Producing evidence: run a task's SLO eval on a tier's model, score it, record it; profile tiers; import logs.

Everything here serves ``tiergate eval run``, ``eval profile`` and ``eval import``: the gate
(``validate``, ``check``) never imports this package's client, scorers or importers, and never runs
a contract's checker. LiteLLM and inspect_ai are extras (``tiergate[run]``, ``tiergate[inspect]``),
imported only inside the functions that call them. Recording goes through ``evidence.record``
(the same path as ``eval record``), so a run or an import is judged exactly like a records file.
"""
