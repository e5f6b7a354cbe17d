"""The one vocabulary shared by the server, the worker and the client: parameter types and their
aliases (`types`), JSON value checks and conversion (`values`), the name rule (`names`), and the
exception tree (`errors`).

Standard library only: the worker imports it inside its sandbox, and clients without the server's
dependencies import it too.
"""
