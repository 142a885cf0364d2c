"""Which stack the CLI talks to, and its outputs (local emulator or real AWS alike)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .template import DEFAULT_STACK_NAME, REGION


class StackNotFoundError(LookupError):
    pass


def default_stack_name(project_dir: str | Path = ".") -> str:
    """SWITCHBOARD_STACK, else the local runtime's stack when AWS_ENDPOINT_URL points at an
    emulator, else samconfig.toml's default stack_name (deploy, then global parameters)."""
    explicit = os.environ.get("SWITCHBOARD_STACK")
    if explicit:
        return explicit
    if os.environ.get("AWS_ENDPOINT_URL"):
        return DEFAULT_STACK_NAME
    samconfig = Path(project_dir) / "samconfig.toml"
    if samconfig.is_file():
        with samconfig.open("rb") as fh:
            default = tomllib.load(fh).get("default") or {}
        for command in ("deploy", "global"):
            name = ((default.get(command) or {}).get("parameters") or {}).get("stack_name")
            if name:
                return str(name)
    return DEFAULT_STACK_NAME


def stack_outputs(
    stack_name: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
    region_name: str | None = None,
) -> dict[str, str]:
    """{OutputKey: OutputValue} of a CloudFormation stack.

    Without arguments boto3's usual configuration applies (AWS_ENDPOINT_URL, profile, region),
    so the same call reads the local runtime's stack or a deployed one.
    """
    import boto3
    from botocore.exceptions import ClientError

    session = session or boto3.session.Session()
    if region_name is None and session.region_name is None and (endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        region_name = REGION  # the emulator's region; no need to configure one for it
    client = session.client("cloudformation", endpoint_url=endpoint_url, region_name=region_name)
    name = stack_name or default_stack_name()
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            where = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "AWS"
            raise StackNotFoundError(f"stack {name!r} not found at {where}") from exc
        raise
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs") or []}
