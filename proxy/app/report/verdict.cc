// verdict: written next
