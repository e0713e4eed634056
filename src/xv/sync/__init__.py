"""The ``xv-sync`` use case: the compiled files read into pins (:mod:`.inputs`), the pure
plan (:mod:`.plan`) and applying it (:mod:`.apply`: prepare every wheel, then install and
remove)."""
