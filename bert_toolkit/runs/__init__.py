"""Run bookkeeping: run_info.json and its checks, atomic writes, learning
curves and progress lines."""
