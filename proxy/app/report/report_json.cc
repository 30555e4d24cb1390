// report_json: written next
