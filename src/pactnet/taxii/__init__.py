"""The node's TAXII 2.1 server (OASIS TAXII 2.1 OS): discovery, collections, objects, manifests and statuses.

An entry point beside the API, over the same use cases (services.stix_objects, services.stix_envelopes) and the
same users, duties and clearances; `install` adds its routes, under `/taxii2/`, to the node's application.
"""
