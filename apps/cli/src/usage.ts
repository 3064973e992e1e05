export const USAGE = `zimage: Z-Image Gateway from the command line

Usage:
  zimage generate PROMPT [options]        text-to-image; waits and saves the PNG(s)
  zimage edit IMAGE PROMPT [options]      image-to-image from a PNG or JPEG file
  zimage batch FILE [options]             a batch: JSONL of job requests, or one prompt a line; shows a
                                          progress bar, saves images to -o DIR (default FILE-images/);
                                          re-run to resume (skips images already saved)
  zimage jobs [--status S] [--limit N]    your jobs, newest first
  zimage show ID                          one job
  zimage cancel ID                        cancel a queued or running job
  zimage deliveries ID                    a job's webhook delivery attempts
  zimage redeliver ID EVENT               send a finished webhook delivery again (same webhook-id)
  zimage dead-letters [--limit N]         deliveries that ended unaccepted (admin)
  zimage keys create NAME [--role admin|user] [--rate N] [--max-pending N] [--weight N]
                          [--priority-classes interactive,batch] [--gpu-day S] [--gpu-month S]
  zimage keys list | revoke ID | set-limits ID [--rate N] [--max-pending N] [--weight N]
                          [--priority-classes interactive,batch] [--gpu-day S|none] [--gpu-month S|none]
                                          (budgets: GPU seconds per UTC day/month)
  zimage usage [ID|all] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                          GPU usage by UTC day and upstream: yours, or (admin) a key's or all

Job options (generate, edit; batch: defaults for every job):
  -s, --size WxH        both sides divisible by 32 (generate default 1024x1024; edit: the input's, fitted to 128-2048)
  -n, --n N             images, 1-4
      --steps N         num_inference_steps (default 50)
      --guidance X      guidance_scale (default 4.0, edits 1.5)
      --negative TEXT   negative_prompt
      --seed N
      --priority CLASS  interactive (default) or batch: interactive jobs run first
      --cancel-after T  deadline: seconds from now, or an ISO 8601 time; still unfinished then,
                        the job is canceled (error deadline_exceeded)
  -o, --output FILE     where to save (default <job id>.png; with n > 1: FILE-1.png, FILE-2.png, ...);
                        batch: the directory (001.png, 002.png, ... in file order)
      --no-wait         print the job and exit once it is queued

Everywhere:
      --json            machine-readable output on stdout (no progress line)
      --url URL         gateway address (default $ZIMAGE_GATEWAY_URL, else http://127.0.0.1:8080)
      --key KEY         API key (default $ZIMAGE_API_KEY)
  -h, --help

Exit codes: 0 done; 1 the job failed or was canceled; 2 bad arguments; 3 the gateway refused the
request (invalid input, auth, limits, not found); 4 the gateway is unreachable or failed.
`;
