"""Who may do what on a workflow: roles ordered viewer < operator < editor < owner."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    EDITOR = 3
    OWNER = 4

    @classmethod
    def parse(cls, name: str | None) -> Role | None:
        return cls[name.upper()] if name else None


READ_ROLE = Role.VIEWER
INVOKE_ROLE = Role.OPERATOR


def can_read(role: Role | None) -> bool:
    return role is not None and role >= READ_ROLE


def can_invoke(role: Role | None) -> bool:
    return role is not None and role >= INVOKE_ROLE
