package proc

import (
	"fmt"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// BindToParent returns a function that, once cmd has started, puts it in
// a job object that kills its processes when the job's last handle closes.
// That handle is left open on purpose: the system closes it when this
// process exits, however it exits, and the command dies with it.
func BindToParent(cmd *exec.Cmd) (afterStart func() error) {
	return func() error {
		job, err := windows.CreateJobObject(nil, nil)
		if err != nil {
			return fmt.Errorf("singleinstance: create job object: %w", err)
		}
		info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
			BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
				LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
			},
		}
		if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
			windows.CloseHandle(job)
			return fmt.Errorf("singleinstance: set up job object: %w", err)
		}
		process, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
		if err != nil {
			windows.CloseHandle(job)
			return fmt.Errorf("singleinstance: open started command: %w", err)
		}
		defer windows.CloseHandle(process)
		if err := windows.AssignProcessToJobObject(job, process); err != nil {
			windows.CloseHandle(job)
			return fmt.Errorf("singleinstance: tie started command to this process: %w", err)
		}
		return nil
	}
}
