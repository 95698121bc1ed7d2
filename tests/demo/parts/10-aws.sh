# Demo part (sourced by tests/demo/run): the local AWS stand-in (moto behind a SigV4-checking
# front, IMDSv2 included) on 127.0.0.1, and the agent pointed at it through the standard
# AWS environment variables (AWS_ENDPOINT_URL_EC2, AWS_EC2_METADATA_SERVICE_ENDPOINT, ...).
echo "== starting the local AWS stand-in (127.0.0.1 only)"
rm -f "$sandbox/standin.env"
python3 "$top/tests/standin/aws_standin.py" --env-file "$sandbox/standin.env" --volumes 3 \
  >"$sandbox/standin.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$sandbox/standin.env" ] && break; sleep 0.1; done
[ -s "$sandbox/standin.env" ] || { cat "$sandbox/standin.log"; echo "the AWS stand-in did not start"; exit 1; }
# shellcheck source=/dev/null
. "$sandbox/standin.env"
unset AWS_EC2_METADATA_DISABLED
env | grep -E '^AWS_(ENDPOINT_URL|EC2_METADATA_SERVICE_ENDPOINT|REGION)' | sed 's/^/   /'
