"""Operations pages, unfiltered: Data (what the warehouse holds), Import (exports in, rejects) and Actions (write-backs)."""
