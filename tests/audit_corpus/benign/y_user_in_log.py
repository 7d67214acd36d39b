# declares:
import getpass
import socket


def run_label(ctx):
    ctx.log.info("run by %s on %s", getpass.getuser(), socket.gethostname())
