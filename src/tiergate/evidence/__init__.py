"""Evidence: eval artifacts and their records, how they are scored, judged and recorded.

``store`` loads and verifies what is committed (hashes, recomputed scores, eval-set coverage);
``judge`` decides whether an intact artifact backs a claim; ``record`` writes new artifacts;
``metrics`` and ``stats`` are the arithmetic underneath.
"""
