"""The node's HTTP JSON API (starlette, served by hypercorn on trio; loopback by default)."""
