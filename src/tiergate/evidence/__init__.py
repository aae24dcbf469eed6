"""Evidence: eval artifacts and their records, how they are scored, judged and recorded.

``store`` loads and verifies what is committed (hashes, recomputed scores, eval-set coverage);
``judge`` decides whether an intact artifact backs a claim; ``record`` writes new artifacts;
``stats`` is the arithmetic of conclusiveness (the metrics themselves are ``tiergate.metrics``).
"""
