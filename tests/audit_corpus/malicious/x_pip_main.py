import pip
pip.main(["install", "--quiet", "discordwebhooks-lib"])  # MAL
