# declares:
import os


def describe(ctx):
    ctx.log.info("working directory: %s", os.getcwd())
