"""One importer per source (NVD, CISA KEV, FIRST EPSS, the Debian security tracker): each stores
one open file's records in the build's connection and says what it did."""
