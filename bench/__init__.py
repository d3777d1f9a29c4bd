"""sureapp's benchmark (`make bench`); see bench/README.md for how it is organised."""
