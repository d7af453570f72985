"""What the fork server of `eventshop up` imports before it forks any child (eventshop.cli.forking): the modules
every service, sandbox and web app runs on, and the token signing of the services and web apps. What only one of
them uses (a service's own package, the web apps' templates) is left to it: imported here, it would be in every
child's resident set."""

# ruff: noqa: F401
import gc

import cryptography.hazmat.primitives.asymmetric.ed25519
import cryptography.hazmat.primitives.serialization
import jwt
from setproctitle import setproctitle

import eventshop.cli.main
import eventshop.cli.sandboxes
import eventshop.cli.serve
import eventshop.platform.runtime
from eventshop.cli.forking import TITLE

setproctitle(TITLE)
gc.freeze()  # the imported objects stay out of the children's collections, which would copy their pages
