"""`python -m service.cli` runs the same console script as `massage-estimator`."""

from service.cli.main import main

main()
