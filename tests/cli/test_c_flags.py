"""`asbkit backup --help` and `asbkit restore --help` list every flag C asbackup and
asrestore 4.5.8 have (their getopt tables, copied here), and each is accepted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asbkit.cli.app import build_parser

ASBACKUP_LONG = """after-digest auth bin-list compact compress compression-level config-file continue directory encrypt
encryption-key-env encryption-key-file estimate estimate-samples file-limit filter-exp help host instance machine
max-records max-retries modified-after modified-before namespace nice no-bins no-config-file no-indexes no-records
no-ttl-only no-udfs node-list only-config-file options output-file output-file-prefix parallel partition-list
password port prefer-racks records-per-second remove-artifacts remove-files retry-delay s3-allow-system-proxy
s3-connect-timeout s3-endpoint-override s3-log-level s3-max-async-downloads s3-max-async-uploads s3-min-part-size
s3-profile s3-region sa-address sa-cafile sa-port sa-timeout services-alternate set sleep-between-retries
socket-timeout state-file-dst tls-cafile tls-capath tls-cert-blacklist tls-certfile tls-cipher-suite tls-crl-check
tls-crl-check-all tls-enable tls-keyfile tls-keyfile-password tls-log-session-info tls-name tls-protocols tlsCaFile
tlsCaPath tlsCertBlackList tlsCertFile tlsCipherSuite tlsCrlCheck tlsCrlCheckAll tlsEnable tlsEncryptOnly tlsKeyFile
tlsLogSessionInfo tlsName tlsProtocols total-timeout usage user verbose version""".split()

ASRESTORE_LONG = """auth batch-size bin-list compress config-file directory directory-list disable-batch-writes encrypt
encryption-key-env encryption-key-file event-loops extra-ttl help host ignore-record-error indexes-last input-file
instance machine max-async-batches max-retries namespace nice no-config-file no-generation no-indexes no-records
no-udfs only-config-file options parallel parent-directory password port replace retry-delay retry-scale-factor
s3-allow-system-proxy s3-connect-timeout s3-endpoint-override s3-log-level s3-max-async-downloads s3-profile
s3-region sa-address sa-cafile sa-port sa-timeout services-alternate set-list sleep-between-retries socket-timeout
threads timeout tls-cafile tls-capath tls-cert-blackList tls-certfile tls-cipher-suite tls-crl-check
tls-crl-check-all tls-enable tls-keyfile tls-keyfile-password tls-log-session-info tls-name tls-protocols tlsCaFile
tlsCaPath tlsCertBlackList tlsCertFile tlsCipherSuite tlsCrlCheck tlsCrlCheckAll tlsEnable tlsEncryptOnly tlsKeyFile
tlsLogSessionInfo tlsName tlsProtocols total-timeout unique usage user validate verbose version wait""".split()

#: The getopt short option strings, without their ':' marks.
ASBACKUP_SHORT = "hSpAUPnsdocFrvxCBlXDMmeNRIuVZabLqwzyf"
ASRESTORE_SHORT = "hSpAUPndityvmBsurgNRILFwVZTz"


@pytest.mark.parametrize("command, longs, shorts", [("backup", ASBACKUP_LONG, ASBACKUP_SHORT), ("restore", ASRESTORE_LONG, ASRESTORE_SHORT)])
def test_help_lists_every_c_flag(command: str, longs: list[str], shorts: str) -> None:
    out = subprocess.run([sys.executable, "-m", "asbkit", command, "--help"], capture_output=True, text=True).stdout
    missing = [f"--{f}" for f in longs if f"--{f}" not in out]
    assert not missing, missing
    missing_short = [f"-{c}" for c in shorts if not any(tok.rstrip(",") == f"-{c}" for tok in out.split())]
    assert not missing_short, missing_short


@pytest.mark.parametrize("command, longs", [("backup", ASBACKUP_LONG), ("restore", ASRESTORE_LONG)])
def test_every_c_long_flag_is_an_option_of_ours(command: str, longs: list[str]) -> None:
    sub = build_parser()._defaults["_subparsers"][command]
    ours = {o for a in sub._actions for o in a.option_strings}
    assert {f"--{f}" for f in longs} <= ours


def test_compatibility_flags_say_what_they_do(tmp_path: object) -> None:
    run = lambda *a: subprocess.run([sys.executable, "-m", "asbkit", *a], capture_output=True, text=True)
    for command in (["restore", "-d", "nowhere"], ["verify", "nowhere"], ["backup", "-n", "x", "-d", "nowhere"]):
        # The S3 flags are the C tools' own, values checked as the line is read.
        p = run(*command, "-p", "1", "--s3-min-part-size", "1")
        assert p.returncode == 2 and "--s3-min-part-size is at least 5" in p.stderr, (command, p.stderr)
        p = run(*command, "-p", "1", "--s3-region", "eu-west-1", "--s3-log-level", "Trace", "--s3-allow-system-proxy")
        assert p.returncode != 2 and "s3" not in p.stderr.lower(), (command, p.stderr)
    p = run("backup", "-p", "1", "-n", "x", "-d", "nowhere", "--tlsEncryptOnly")
    assert p.returncode == 2 and "--tlsEncryptOnly" in p.stderr
    p = run("restore", "-p", "1", "-d", "nowhere", "--event-loops", "4", "--tls-cert-blacklist", "x")
    assert "--event-loops" in p.stderr and "--tls-cert-blacklist is deprecated" in p.stderr
    for flags in (["--help"], ["-Z"], ["--usage"], ["--options"]):
        assert run("restore", *flags).stdout.startswith("usage: asbkit restore")


def test_camel_case_tls_aliases() -> None:
    from asbkit.cli.cluster_flags import cluster_config_from

    args = build_parser().parse_args(["backup", "--tlsEnable", "--tlsName", "n1", "--tlsCaFile", "ca.pem", "--tlsCaPath", "cas", "--tlsProtocols", "TLSv1.3",
                                      "--tlsCipherSuite", "TLS_AES_128_GCM_SHA256", "--tlsKeyFile", "k.pem", "--tlsCertFile", "c.pem", "--tlsCrlCheck", "--tlsCrlCheckAll"])
    c = cluster_config_from(args, "backup")
    assert c.tls.name == "n1"
    assert c.tls.client_settings() == {"enable": True, "cafile": "ca.pem", "capath": "cas", "protocols": "TLSv1.3", "cipher_suite": "TLS_AES_128_GCM_SHA256",
                     "keyfile": "k.pem", "certfile": "c.pem", "crl_check": True, "crl_check_all": True}
