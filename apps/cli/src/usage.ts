export const USAGE = `zimage: Z-Image Gateway from the command line

Usage:
  zimage generate PROMPT [options]        text-to-image; waits and saves the PNG(s)
  zimage edit IMAGE PROMPT [options]      image-to-image from a PNG or JPEG file
  zimage jobs [--status S] [--limit N]    your jobs, newest first
  zimage show ID                          one job
  zimage cancel ID                        cancel a queued or running job
  zimage deliveries ID                    a job's webhook delivery attempts
  zimage redeliver ID EVENT               send a finished webhook delivery again (same webhook-id)
  zimage dead-letters [--limit N]         deliveries that ended unaccepted (admin)
  zimage keys create NAME [--role admin|user] [--rate N] [--max-pending N] [--weight N]
  zimage keys list | revoke ID | set-limits ID [--rate N] [--max-pending N] [--weight N]

Job options (generate, edit):
  -s, --size WxH        both sides divisible by 32 (generate default 1024x1024; edit: the input's, fitted to 128-2048)
  -n, --n N             images, 1-4
      --steps N         num_inference_steps (default 50)
      --guidance X      guidance_scale (default 4.0, edits 1.5)
      --negative TEXT   negative_prompt
      --seed N
  -o, --output FILE     where to save (default <job id>.png; with n > 1: FILE-1.png, FILE-2.png, ...)
      --no-wait         print the job and exit once it is queued

Everywhere:
      --json            machine-readable output on stdout (no progress line)
      --url URL         gateway address (default $ZIMAGE_GATEWAY_URL, else http://127.0.0.1:8080)
      --key KEY         API key (default $ZIMAGE_API_KEY)
  -h, --help

Exit codes: 0 done; 1 the job failed or was canceled; 2 bad arguments; 3 the gateway refused the
request (invalid input, auth, limits, not found); 4 the gateway is unreachable or failed.
`;
