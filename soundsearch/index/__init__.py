"""Vector indexes and the lexical index behind search.

hnsw (hnswlib wrapper keyed by catalog ids, persisted atomically), exact (numpy oracle), library (the
items / sounds / meta indexes of one model), pipeline (decode → audio vectors), bm25 and facets
(in-memory lexical index and per-file attributes for filters).
"""
