"""Running a pipeline from Python (``wiseflow.run_pipeline``): the one code path of the
CLI, the tests, the benchmarks and embedders.
"""
