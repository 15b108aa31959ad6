"""The web pages every node serves beside its JSON API (``/web/``): an explorer of the ledger and a
dashboard of its communities, server-rendered in English and Arabic.

``app`` mounts the routes, ``pages`` reads the node for each page, ``site`` renders (templates,
languages, error pages), ``charts`` and ``qr`` draw SVG; ``templates/``, ``static/`` and
``locale/`` ship inside the package.
"""
