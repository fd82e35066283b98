"""What names a deployment to its clients: its one region and its account (in every ARN).

Kept apart from the operations so that the command line can show the defaults without loading
any model.
"""

from __future__ import annotations

#: The region a deployment serves, unless ``agnosco serve --region`` / ``$AGNOSCO_REGION`` says
#: otherwise: AWS's default region.
DEFAULT_REGION = "us-east-1"
#: One deployment is one account.
DEFAULT_ACCOUNT = "000000000000"
