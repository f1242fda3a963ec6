"""The demo application `make run` starts: job types, import targets and users to try jobdeck with."""

from jobdeck.demo import imports as imports
from jobdeck.demo import jobs as jobs
from jobdeck.demo import maintenance as maintenance
