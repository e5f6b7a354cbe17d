"""Several nodes, one cluster: the node registry (who is alive, where) and the event bus (what changed).

Nodes are interchangeable and share only the database and the artifact store. Each node registers
itself and heart-beats (`nodes.NodeRegistry`); one that stops is declared dead by any live node, its
sessions become Gone and its batch leases are freed. Changes to services are announced on the bus
(`bus.EventBus`: PostgreSQL LISTEN/NOTIFY, or in-process with SQLite's single node) so that every
node forgets its cached definitions and replaces or closes its pools at once.
"""
