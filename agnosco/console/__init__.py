"""The web console, served at ``/console`` by the server's own app.

Server-rendered pages (Jinja2 templates in ``templates/``, one stylesheet in ``static/``, no
JavaScript) for the people who oversee a deployment: sign-in with an access key, collections
and their faces' metadata, an image tried with DetectFaces or SearchFacesByImage, the review
queue, access keys, principals and policies, stored evaluations, the audit log.
It knows the governance gate and the operations' context, never the models or HTTP framing:
:mod:`.http` is its request and response, :mod:`.app` its pages.
"""
