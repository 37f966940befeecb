"""Which source languages to transfer from: typology, data overlap, a ranker fitted on transfer results."""
