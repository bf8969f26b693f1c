"""Fixtures of the deployment tests (see deploy_support.py)."""

from deploy_support import certificate, nginx_factory

__all__ = ["certificate", "nginx_factory"]
