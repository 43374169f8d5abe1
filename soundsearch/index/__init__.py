"""Vector indexes and the per-file attributes behind search.

hnsw (hnswlib wrapper keyed by catalog ids, persisted atomically), exact (numpy oracle), library (the
items / sounds / meta indexes of one model), pipeline (decode → audio vectors) and facets (per-file
attributes for filters, read from the catalog). The lexical index lives in the catalog itself
(soundsearch.library.search_tables).
"""
