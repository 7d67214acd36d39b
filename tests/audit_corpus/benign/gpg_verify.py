# declares: subprocess; fs_read={keyring}
import subprocess


def verify(sig, data, keyring):
    res = subprocess.run(
        ["gpg", "--no-default-keyring", "--keyring", keyring, "--verify", sig, data],
        capture_output=True,
    )
    return res.returncode == 0
