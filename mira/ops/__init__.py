"""Operations over whole networks: retention purge, export/import bundles, statistics.

Each is a plain function that needs only an app context, so `flask mira …`, a Lambda
scheduled event or a script can call it.
"""
