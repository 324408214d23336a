"""Network lab: namespaced hosts that speak real protocol banners to a real Nmap."""
