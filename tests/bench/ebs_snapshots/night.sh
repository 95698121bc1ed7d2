#!/bin/bash
# One night of EBS snapshots done the way a shell script with the AWS CLI would: the same work
# as `opsagent run --recipe ebs_snapshots` (every attached volume, tags at creation, retention
# of tagged snapshots keeping the newest KEEP), for the benchmark. Needs the AWS_* environment
# of the stand-in. Usage: night.sh INSTANCE_ID KEEP
set -euo pipefail
instance=$1
keep=$2
host=$(hostname)

volumes=$(aws ec2 describe-instances --instance-ids "$instance" \
        --query 'Reservations[0].Instances[0].BlockDeviceMappings[].[DeviceName,Ebs.VolumeId]' --output text)

while read -r device volume; do
        [ -n "$volume" ] || continue
        snap=$(aws ec2 create-snapshot --volume-id "$volume" \
                --description "$host: automated snapshot of $device ($volume)" \
                --tag-specifications "ResourceType=snapshot,Tags=[{Key=Name,Value=$host $device},{Key=opsagent:managed,Value=true},{Key=opsagent:instance-id,Value=$instance},{Key=opsagent:device,Value=$device},{Key=opsagent:hostname,Value=$host}]" \
                --query SnapshotId --output text)
        echo "volume $device $volume: created $snap"
        # ours, completed, newest first; everything past the newest $keep goes (tonight's counts)
        old=$(aws ec2 describe-snapshots --owner-ids self \
                --filters Name=volume-id,Values="$volume" Name=tag:opsagent:managed,Values=true \
                --query 'reverse(sort_by(Snapshots[?State==`completed` || SnapshotId==`'"$snap"'`], &StartTime))[].SnapshotId' \
                --output text | tr '\t' '\n' | tail -n +"$((keep + 1))")
        for s in $old; do
                [ "$s" = "$snap" ] && continue
                aws ec2 delete-snapshot --snapshot-id "$s"
                echo "  $volume $s: deleted"
        done
done <<< "$volumes"
