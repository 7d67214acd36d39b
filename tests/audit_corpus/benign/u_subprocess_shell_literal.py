# declares: subprocess
import subprocess


def cpu_model() -> str:
    return subprocess.check_output("grep -m1 'model name' /proc/cpuinfo", shell=True, text=True)
